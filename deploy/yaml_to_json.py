"""Prints a YAML file as JSON (PyYAML's safe loader), for the Go test of deploy/tfjob.yaml.

yaml_to_json.py FILE
"""
import json
import sys

import yaml

with open(sys.argv[1]) as f:
    json.dump(yaml.safe_load(f), sys.stdout)
