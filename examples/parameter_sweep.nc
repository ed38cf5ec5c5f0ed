{
 "base": {
  "type": "Node",
  "name": "Float",
  "uniquename": "base",
  "pos": [
   5000.0,
   5000.0
  ],
  "path": [
   "types",
   "Float"
  ],
  "terminals": {
   "float": {
    "value": 2.0,
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
 "power": {
  "type": "Node",
  "name": "Power",
  "uniquename": "power",
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
    "value": [
     1,
     2,
     3,
     4,
     5,
     6,
     7,
     8
    ],
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
 "connection": {
  "type": "Connection",
  "name": "connection",
  "uniquename": "connection",
  "line": "cubic",
  "input": [
   "base",
   "float"
  ],
  "output": [
   "power",
   "base"
  ],
  "controlpoints": [],
  "feedback": false
 },
 "minus_one": {
  "type": "Node",
  "name": "Subtract",
  "uniquename": "minus_one",
  "pos": [
   5440.0,
   5000.0
  ],
  "path": [
   "math",
   "Subtract"
  ],
  "terminals": {
   "minuend": {
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
     "name": "minuend",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "subtrahend": {
    "value": 1.0,
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
     "name": "subtrahend",
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
 "connection.0": {
  "type": "Connection",
  "name": "connection.0",
  "uniquename": "connection.0",
  "line": "cubic",
  "input": [
   "power",
   "result"
  ],
  "output": [
   "minus_one",
   "minuend"
  ],
  "controlpoints": [],
  "feedback": false
 }
}
