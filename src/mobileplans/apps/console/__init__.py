"""The console (issue #10): web pages for the platform's operations team and each operator."""
