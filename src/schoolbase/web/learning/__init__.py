"""The student's pages: my to-do, an assignment's page (turning work in) and my grades."""
