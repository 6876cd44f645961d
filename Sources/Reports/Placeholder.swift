// The HTML report renderer goes here.
