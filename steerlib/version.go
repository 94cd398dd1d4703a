package steerlib

// Version is the Steerbook release this library belongs to. Notebooks print
// it beside the model and dataset hashes, so a published result says which
// code produced it.
const Version = "0.1.0"
