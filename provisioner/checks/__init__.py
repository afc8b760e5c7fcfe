"""Site checks (testinfra), shipped in the package.

The same files run as molecule's verifier, in CI and through ``provisioner verify``.
"""
