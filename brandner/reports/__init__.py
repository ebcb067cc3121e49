"""Results for people: tagged text as escaped, type-coloured HTML, and the error page of an evaluation."""
