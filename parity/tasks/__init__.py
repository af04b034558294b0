"""One module per task (text-encoder, image-classifier): how its shared inputs are
prepared in the parent and how its pair is evaluated. A new task goes here."""
