{
 "samples": {
  "type": "Node",
  "name": "Integer",
  "uniquename": "samples",
  "pos": [
   5000.0,
   5000.0
  ],
  "path": [
   "types",
   "Integer"
  ],
  "terminals": {
   "int": {
    "value": 1000000,
    "flipped": false,
    "opts": {
     "widget": null,
     "in": false,
     "out": true,
     "showlabel": true,
     "items": [],
     "min": -999999,
     "max": 999999,
     "dtype": "<class 'int'>",
     "value": 0,
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
     "name": "int",
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
 "root": {
  "type": "Node",
  "name": "Root",
  "uniquename": "root",
  "pos": [
   5220.0,
   5000.0
  ],
  "path": [
   "math",
   "Root"
  ],
  "terminals": {
   "radicand": {
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
     "name": "radicand",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "degree": {
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
     "name": "degree",
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
  "layer": 2,
  "requirements": {
   "executor": "slurm",
   "cpus": 1,
   "memory_mb": 256,
   "walltime_s": 300,
   "retries": 1
  }
 },
 "connection": {
  "type": "Connection",
  "name": "connection",
  "uniquename": "connection",
  "line": "cubic",
  "input": [
   "samples",
   "int"
  ],
  "output": [
   "root",
   "radicand"
  ],
  "controlpoints": [],
  "feedback": false
 }
}
