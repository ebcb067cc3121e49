"""Results for people: tagged text as escaped, type-coloured HTML."""
