"""The network in torch (nn modules only: tensors in, tensors out), and the model file that stores
it with its encoder."""
