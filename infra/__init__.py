"""The AWS stack (CDK, Python): one construct per capability in capabilities/, names in constants.py."""
