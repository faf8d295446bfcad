"""Schools, academic sessions (school years, semesters and terms, grading periods), courses,
a class's place among them, and closing grading periods with overrides and their history."""
