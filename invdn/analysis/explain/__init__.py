"""Small experiments that show, as figures and numbers, why InvDN is built the way it is."""
