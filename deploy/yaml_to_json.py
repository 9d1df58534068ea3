"""Prints a YAML file's documents as a JSON array (PyYAML's safe loader), for the Go test of
deploy/tfjob.yaml.

yaml_to_json.py FILE
"""
import json
import sys

import yaml

with open(sys.argv[1]) as f:
    json.dump(list(yaml.safe_load_all(f)), sys.stdout)
