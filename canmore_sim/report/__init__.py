"""Reports: the summary and report.json, terminal text, aggregates, HTML, CSV files, plots."""
