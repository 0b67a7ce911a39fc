"""What the run leaves for people: the CLI run behind ./run conformance, the matrix, the pages, the
badges, the notes, the WFC report. Reads verdicts.json; never the network stack or pytest."""
