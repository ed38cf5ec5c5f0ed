{
  "counter": {
    "type": "Node",
    "name": "Counter",
    "uniquename": "counter",
    "pos": [100.0, 200.0],
    "path": ["math", "Add"],
    "terminals": {
      "a": {"value": 1, "flipped": false, "opts": {"in": true, "out": false, "multiinput": true, "dtype": "<class 'float'>", "widget": "lineedit"}},
      "previous": {"value": 0, "flipped": false, "opts": {"in": true, "out": false, "multiinput": false, "dtype": "<class 'float'>"}},
      "result": {"value": 1.0, "flipped": false, "opts": {"in": false, "out": true, "multiinput": false, "dtype": "<class 'float'>"}}
    },
    "tunnel": false,
    "forcerun": true,
    "hidden": false,
    "customState": {"collapsed": false, "colour": [1, 2, 3]},
    "layer": 2,
    "geometry": [180, 90],
    "requirements": {"tags": ["gpu"], "executor": "shell", "retries": 2},
    "futureKey": {"nested": [1, {"deep": null}]}
  },
  "one": {
    "type": "Node",
    "name": "One",
    "uniquename": "one",
    "pos": [-250, 210],
    "path": ["types", "Integer"],
    "terminals": {
      "int": {"value": 1, "flipped": false, "opts": {"in": false, "out": true, "dtype": "<class 'int'>"}}
    },
    "tunnel": false,
    "forcerun": false,
    "hidden": false,
    "customState": null,
    "layer": 1
  },
  "connection": {
    "type": "Connection",
    "name": "connection",
    "uniquename": "connection",
    "line": "cubic",
    "input": ["one", "int"],
    "output": ["counter", "a"],
    "controlpoints": [[10, 20]]
  },
  "connection.0": {
    "type": "Connection",
    "name": "connection.0",
    "uniquename": "connection.0",
    "line": "cubic",
    "input": ["counter", "result"],
    "output": ["counter", "previous"],
    "controlpoints": [],
    "feedback": true
  },
  "connection.1": {
    "type": "Connection",
    "name": "connection.1",
    "uniquename": "connection.1",
    "line": "cubic",
    "input": ["one", "int"],
    "output": ["counter", "a"],
    "controlpoints": [],
    "feedback": false
  }
}
