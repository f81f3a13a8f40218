"""Report rendering: tenant statements as CSV and HTML files."""
