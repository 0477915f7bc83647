"""The LSTM composer at run time: the exported model, piano rolls and the live player."""
