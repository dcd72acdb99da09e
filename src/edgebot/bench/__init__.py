"""`edgebot bench`: speed and quality of chat models on this box, side by side with llama.cpp's own tools."""
