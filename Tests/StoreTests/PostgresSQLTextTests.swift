import TestSupport
import Testing

@testable import Store

@Suite(.blocksItsThread, .timeLimit(.minutes(10))) struct PostgresSQLTextTests {
    @Test func placeholdersAreNumberedOutsideQuotes() {
        // Given
        let sql = "SELECT '?', \"a?\" FROM t WHERE a = ? AND b = ?2 -- ?\n AND c = ? /* ? */ AND d = $$?$$"

        // When
        let translated = PostgresSQLText.numberedPlaceholders(sql)

        // Then
        #expect(
            translated
                == "SELECT '?', \"a?\" FROM t WHERE a = $1 AND b = $2 -- ?\n AND c = $2 /* ? */ AND d = $$?$$")
    }

    @Test func scriptIsSplitAtSemicolonsOutsideQuotesAndBodies() {
        // Given
        let script = """
            -- 0001_x.pg.sql: a header; with a semicolon
            CREATE TABLE a (s text DEFAULT ';');
            CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN RETURN 1; END $body$;
            /* ; */ INSERT INTO a VALUES (E'it\\'s;');
            -- trailing comment
            """

        // When
        let statements = PostgresSQLText.statements(script)

        // Then
        #expect(statements.count == 3)
        #expect(statements[0].hasSuffix("CREATE TABLE a (s text DEFAULT ';')"))
        #expect(statements[1].contains("RETURN 1; END $body$"))
        #expect(statements[2].hasSuffix("INSERT INTO a VALUES (E'it\\'s;')"))
    }

    @Test func wordsAreLowerCasedUnlessQuoted() {
        // Given / When
        let words = PostgresSQLText.words("SELECT \"Set_Config\", 'x' FROM pg_catalog.Runs U&\"a\"")

        // Then
        #expect(words.map(\.text) == ["select", "Set_Config", "from", "pg_catalog", "runs", "a"])
        #expect(words.last?.unicodeEscaped == true)
    }
}
