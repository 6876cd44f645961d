// Reliability campaign tests go here.
