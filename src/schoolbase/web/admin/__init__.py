"""The org admin's pages: members, invitations, domains, classes, guardianships, grading scale."""
