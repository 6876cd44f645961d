// Report tests go here.
