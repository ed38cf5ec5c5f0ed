{
 "x": {
  "type": "Node",
  "name": "Float",
  "uniquename": "x",
  "pos": [
   5000.0,
   5140.0
  ],
  "path": [
   "types",
   "Float"
  ],
  "terminals": {
   "float": {
    "value": 3.0,
    "flipped": false,
    "opts": {
     "widget": null,
     "in": false,
     "out": true,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'float'>",
     "value": 0.0,
     "flipped": false,
     "multiinput": false,
     "checkable": false,
     "columndelegate": {},
     "rowdelegate": {},
     "columns": [],
     "rows": [],
     "buttons": [
      "btn1"
     ],
     "browsetype": "open",
     "name": "float",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   }
  },
  "tunnel": false,
  "forcerun": false,
  "hidden": false,
  "customState": null,
  "layer": 1
 },
 "square": {
  "type": "Node",
  "name": "Power",
  "uniquename": "square",
  "pos": [
   5220.0,
   5000.0
  ],
  "path": [
   "math",
   "Power"
  ],
  "terminals": {
   "base": {
    "value": null,
    "flipped": false,
    "opts": {
     "widget": "lineedit",
     "in": true,
     "out": false,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'float'>",
     "value": 0.0,
     "flipped": false,
     "multiinput": true,
     "checkable": false,
     "columndelegate": {},
     "rowdelegate": {},
     "columns": [],
     "rows": [],
     "buttons": [
      "btn1"
     ],
     "browsetype": "open",
     "name": "base",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "exponent": {
    "value": 2.0,
    "flipped": false,
    "opts": {
     "widget": "lineedit",
     "in": true,
     "out": false,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'float'>",
     "value": 0.0,
     "flipped": false,
     "multiinput": true,
     "checkable": false,
     "columndelegate": {},
     "rowdelegate": {},
     "columns": [],
     "rows": [],
     "buttons": [
      "btn1"
     ],
     "browsetype": "open",
     "name": "exponent",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "result": {
    "value": null,
    "flipped": false,
    "opts": {
     "widget": null,
     "in": false,
     "out": true,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'float'>",
     "value": 0.0,
     "flipped": false,
     "multiinput": false,
     "checkable": false,
     "columndelegate": {},
     "rowdelegate": {},
     "columns": [],
     "rows": [],
     "buttons": [
      "btn1"
     ],
     "browsetype": "open",
     "name": "result",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   }
  },
  "tunnel": false,
  "forcerun": false,
  "hidden": false,
  "customState": null,
  "layer": 2
 },
 "cube": {
  "type": "Node",
  "name": "Power",
  "uniquename": "cube",
  "pos": [
   5220.0,
   5140.0
  ],
  "path": [
   "math",
   "Power"
  ],
  "terminals": {
   "base": {
    "value": null,
    "flipped": false,
    "opts": {
     "widget": "lineedit",
     "in": true,
     "out": false,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'float'>",
     "value": 0.0,
     "flipped": false,
     "multiinput": true,
     "checkable": false,
     "columndelegate": {},
     "rowdelegate": {},
     "columns": [],
     "rows": [],
     "buttons": [
      "btn1"
     ],
     "browsetype": "open",
     "name": "base",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "exponent": {
    "value": 3.0,
    "flipped": false,
    "opts": {
     "widget": "lineedit",
     "in": true,
     "out": false,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'float'>",
     "value": 0.0,
     "flipped": false,
     "multiinput": true,
     "checkable": false,
     "columndelegate": {},
     "rowdelegate": {},
     "columns": [],
     "rows": [],
     "buttons": [
      "btn1"
     ],
     "browsetype": "open",
     "name": "exponent",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "result": {
    "value": null,
    "flipped": false,
    "opts": {
     "widget": null,
     "in": false,
     "out": true,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'float'>",
     "value": 0.0,
     "flipped": false,
     "multiinput": false,
     "checkable": false,
     "columndelegate": {},
     "rowdelegate": {},
     "columns": [],
     "rows": [],
     "buttons": [
      "btn1"
     ],
     "browsetype": "open",
     "name": "result",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   }
  },
  "tunnel": false,
  "forcerun": false,
  "hidden": false,
  "customState": null,
  "layer": 3
 },
 "half": {
  "type": "Node",
  "name": "Divide",
  "uniquename": "half",
  "pos": [
   5220.0,
   5280.0
  ],
  "path": [
   "math",
   "Divide"
  ],
  "terminals": {
   "dividend": {
    "value": null,
    "flipped": false,
    "opts": {
     "widget": "lineedit",
     "in": true,
     "out": false,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'float'>",
     "value": 0.0,
     "flipped": false,
     "multiinput": true,
     "checkable": false,
     "columndelegate": {},
     "rowdelegate": {},
     "columns": [],
     "rows": [],
     "buttons": [
      "btn1"
     ],
     "browsetype": "open",
     "name": "dividend",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "divisor": {
    "value": 2.0,
    "flipped": false,
    "opts": {
     "widget": "lineedit",
     "in": true,
     "out": false,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'float'>",
     "value": 0.0,
     "flipped": false,
     "multiinput": true,
     "checkable": false,
     "columndelegate": {},
     "rowdelegate": {},
     "columns": [],
     "rows": [],
     "buttons": [
      "btn1"
     ],
     "browsetype": "open",
     "name": "divisor",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "result": {
    "value": null,
    "flipped": false,
    "opts": {
     "widget": null,
     "in": false,
     "out": true,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'float'>",
     "value": 0.0,
     "flipped": false,
     "multiinput": false,
     "checkable": false,
     "columndelegate": {},
     "rowdelegate": {},
     "columns": [],
     "rows": [],
     "buttons": [
      "btn1"
     ],
     "browsetype": "open",
     "name": "result",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   }
  },
  "tunnel": false,
  "forcerun": false,
  "hidden": false,
  "customState": null,
  "layer": 4
 },
 "total": {
  "type": "Node",
  "name": "Add",
  "uniquename": "total",
  "pos": [
   5440.0,
   5140.0
  ],
  "path": [
   "math",
   "Add"
  ],
  "terminals": {
   "input": {
    "value": null,
    "flipped": false,
    "opts": {
     "widget": "lineedit",
     "in": true,
     "out": false,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'float'>",
     "value": 0.0,
     "flipped": false,
     "multiinput": true,
     "checkable": false,
     "columndelegate": {},
     "rowdelegate": {},
     "columns": [],
     "rows": [],
     "buttons": [
      "btn1"
     ],
     "browsetype": "open",
     "name": "input",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "result": {
    "value": null,
    "flipped": false,
    "opts": {
     "widget": null,
     "in": false,
     "out": true,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'float'>",
     "value": 0.0,
     "flipped": false,
     "multiinput": false,
     "checkable": false,
     "columndelegate": {},
     "rowdelegate": {},
     "columns": [],
     "rows": [],
     "buttons": [
      "btn1"
     ],
     "browsetype": "open",
     "name": "result",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   }
  },
  "tunnel": false,
  "forcerun": false,
  "hidden": false,
  "customState": null,
  "layer": 5
 },
 "connection": {
  "type": "Connection",
  "name": "connection",
  "uniquename": "connection",
  "line": "cubic",
  "input": [
   "x",
   "float"
  ],
  "output": [
   "square",
   "base"
  ],
  "controlpoints": [],
  "feedback": false
 },
 "connection.0": {
  "type": "Connection",
  "name": "connection.0",
  "uniquename": "connection.0",
  "line": "cubic",
  "input": [
   "x",
   "float"
  ],
  "output": [
   "cube",
   "base"
  ],
  "controlpoints": [],
  "feedback": false
 },
 "connection.1": {
  "type": "Connection",
  "name": "connection.1",
  "uniquename": "connection.1",
  "line": "cubic",
  "input": [
   "x",
   "float"
  ],
  "output": [
   "half",
   "dividend"
  ],
  "controlpoints": [],
  "feedback": false
 },
 "connection.2": {
  "type": "Connection",
  "name": "connection.2",
  "uniquename": "connection.2",
  "line": "cubic",
  "input": [
   "square",
   "result"
  ],
  "output": [
   "total",
   "input"
  ],
  "controlpoints": [],
  "feedback": false
 },
 "connection.3": {
  "type": "Connection",
  "name": "connection.3",
  "uniquename": "connection.3",
  "line": "cubic",
  "input": [
   "cube",
   "result"
  ],
  "output": [
   "total",
   "input"
  ],
  "controlpoints": [],
  "feedback": false
 },
 "connection.4": {
  "type": "Connection",
  "name": "connection.4",
  "uniquename": "connection.4",
  "line": "cubic",
  "input": [
   "half",
   "result"
  ],
  "output": [
   "total",
   "input"
  ],
  "controlpoints": [],
  "feedback": false
 }
}
