"""The gradebook grid of a class, for its teachers and the organization's admins."""
