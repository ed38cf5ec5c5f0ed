{
 "range": {
  "type": "Node",
  "name": "Range",
  "uniquename": "range",
  "pos": [
   5000.0,
   5000.0
  ],
  "path": [
   "numpy",
   "Range"
  ],
  "terminals": {
   "start": {
    "value": 0.0,
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
     "name": "start",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "stop": {
    "value": 6.3,
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
     "name": "stop",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "step": {
    "value": 0.1,
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
     "name": "step",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "type": {
    "value": "float",
    "flipped": false,
    "opts": {
     "widget": "combobox",
     "in": true,
     "out": false,
     "showlabel": true,
     "items": [
      "int",
      "float"
     ],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'str'>",
     "value": "",
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
     "name": "type",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "range": {
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
     "dtype": "<class 'numpy.ndarray'>",
     "value": [],
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
     "name": "range",
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
 "trig": {
  "type": "Node",
  "name": "Trig",
  "uniquename": "trig",
  "pos": [
   5220.0,
   5000.0
  ],
  "path": [
   "numpy",
   "Trig"
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
     "dtype": "<class 'numpy.ndarray'>",
     "value": [],
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
     "name": "input",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "operation": {
    "value": "sin",
    "flipped": false,
    "opts": {
     "widget": "combobox",
     "in": true,
     "out": false,
     "showlabel": true,
     "items": [
      "sin",
      "cos",
      "tan"
     ],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'str'>",
     "value": "",
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
     "name": "operation",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "array": {
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
     "dtype": "<class 'numpy.ndarray'>",
     "value": [],
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
     "name": "array",
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
 "trig.0": {
  "type": "Node",
  "name": "Trig",
  "uniquename": "trig.0",
  "pos": [
   5220.0,
   5140.0
  ],
  "path": [
   "numpy",
   "Trig"
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
     "dtype": "<class 'numpy.ndarray'>",
     "value": [],
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
     "name": "input",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "operation": {
    "value": "cos",
    "flipped": false,
    "opts": {
     "widget": "combobox",
     "in": true,
     "out": false,
     "showlabel": true,
     "items": [
      "sin",
      "cos",
      "tan"
     ],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'str'>",
     "value": "",
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
     "name": "operation",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "array": {
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
     "dtype": "<class 'numpy.ndarray'>",
     "value": [],
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
     "name": "array",
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
 "plot": {
  "type": "Node",
  "name": "Plot",
  "uniquename": "plot",
  "pos": [
   5440.0,
   5000.0
  ],
  "path": [
   "matplotlib",
   "Plot"
  ],
  "terminals": {
   "x": {
    "value": null,
    "flipped": false,
    "opts": {
     "widget": null,
     "in": true,
     "out": false,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'numpy.ndarray'>",
     "value": [],
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
     "name": "x",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "y": {
    "value": null,
    "flipped": false,
    "opts": {
     "widget": null,
     "in": true,
     "out": false,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'numpy.ndarray'>",
     "value": [],
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
     "name": "y",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   }
  },
  "tunnel": false,
  "forcerun": false,
  "hidden": false,
  "customState": null,
  "layer": 4,
  "geometry": [
   300.0,
   300.0
  ]
 },
 "connection": {
  "type": "Connection",
  "name": "connection",
  "uniquename": "connection",
  "line": "cubic",
  "input": [
   "range",
   "range"
  ],
  "output": [
   "trig",
   "input"
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
   "range",
   "range"
  ],
  "output": [
   "trig.0",
   "input"
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
   "trig",
   "array"
  ],
  "output": [
   "plot",
   "y"
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
   "trig.0",
   "array"
  ],
  "output": [
   "plot",
   "y"
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
   "range",
   "range"
  ],
  "output": [
   "plot",
   "x"
  ],
  "controlpoints": [],
  "feedback": false
 }
}
