"""Settlement: on a terminal task status, finalizes the hold and writes the consumption log."""
