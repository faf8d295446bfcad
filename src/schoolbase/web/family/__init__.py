"""The parent's pages: my children's classes, grades, missing and upcoming work."""
