{
  "a": {"type": "Node", "name": "A", "uniquename": "a", "path": ["types", "Float"],
        "terminals": {"float": {"value": 2.5, "opts": {"in": false, "out": true, "dtype": "<class 'float'>"}}}},
  "b": {"type": "Node", "name": "B", "uniquename": "b", "pos": [0, 0], "path": ["my custom nodes", "thing"],
        "terminals": {"input": {"value": null, "opts": {"in": true, "out": false, "dtype": "None"}},
                      "out": {"value": [1, 2, 3], "opts": {"in": false, "out": true}}}},
  "c": {"type": "Node", "name": "C", "uniquename": "c", "pos": [0, 0], "path": ["math", "Multiply"],
        "terminals": {"input": {"value": null, "opts": {"in": true, "out": false, "multiinput": true}},
                      "result": {"value": null, "opts": {"in": false, "out": true}}}},
  "link": {"type": "Connection", "name": "link", "uniquename": "link", "input": ["a", "float"], "output": ["b", "input"]},
  "broken": {"type": "Connection", "name": "broken", "uniquename": "broken", "input": ["a", "nope"], "output": ["c", "input"]},
  "meta": {"saved_by": "hand", "version": 3}
}
