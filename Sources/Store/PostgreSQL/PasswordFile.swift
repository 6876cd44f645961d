/// The password of a URL that gives none, from a libpq password file (`~/.pgpass`, or the
/// file `PGPASSFILE` names), read as libpq reads it, so that a URL written into a batch
/// job's script (`mnistlab sweep --slurm`) never needs to hold the password itself.
import Foundation

/// A password file: lines `host:port:database:user:password`.
enum PasswordFile {
    /// The password for `location` in the file `environment` points at, or nil: no file, a
    /// file readable by group or others (libpq ignores those too), or no matching line.
    static func password(
        for location: PostgresLocation,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        var info = stat()
        guard let path = environment["PGPASSFILE"] ?? environment["HOME"].map({ $0 + "/.pgpass" }),
            stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_mode & 0o077 == 0,
            let text = try? String(contentsOfFile: path, encoding: .utf8)
        else { return nil }
        return password(
            in: text, host: location.host, port: location.port, database: location.database,
            user: location.user)
    }

    /// The password of the first line of `text` that matches: each of its first four fields
    /// equal to the value, or `*`; `\:` and `\\` stand for `:` and `\`; `#` starts a comment
    /// line. `localhost` also matches the loopback addresses, as a URL's host may name them.
    static func password(
        in text: String, host: String, port: Int, database: String, user: String
    ) -> String? {
        let hosts: Set<String> =
            ["localhost", "127.0.0.1", "::1"].contains(host)
            ? ["localhost", "127.0.0.1", "::1", host] : [host]
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = split(line)
            guard fields.count == 5 else { continue }
            func matches(_ field: String, _ values: Set<String>) -> Bool {
                field == "*" || values.contains(field)
            }
            if matches(fields[0], hosts), matches(fields[1], ["\(port)"]),
                matches(fields[2], [database]), matches(fields[3], [user])
            {
                return fields[4]
            }
        }
        return nil
    }

    /// The fields of one line, split at unescaped colons, escapes removed.
    private static func split(_ line: Substring) -> [String] {
        var fields = [""]
        var escaped = false
        for character in line {
            if escaped {
                fields[fields.count - 1].append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" && fields.count < 5 {
                fields.append("")
            } else {
                fields[fields.count - 1].append(character)
            }
        }
        return fields
    }
}
