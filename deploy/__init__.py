"""Vehicle-side deployment: ONNX export and the torch-free runtime; also hosts the ``nightfusion`` CLI."""
