"""The teacher's pages: my classes, a class, the assignment editor and an assignment's submissions."""
