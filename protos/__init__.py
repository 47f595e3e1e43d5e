"""Wire protocol definitions (``.proto`` files) and their generated stubs (issue 3)."""
