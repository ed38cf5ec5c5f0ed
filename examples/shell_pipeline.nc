{
 "script": {
  "type": "Node",
  "name": "String",
  "uniquename": "script",
  "pos": [
   5000.0,
   5000.0
  ],
  "path": [
   "types",
   "String"
  ],
  "terminals": {
   "string": {
    "value": "printf '%s\\n' pear apple fig apple | sort | uniq -c | awk '{print $2 \"=\" $1}'",
    "flipped": false,
    "opts": {
     "widget": null,
     "in": false,
     "out": true,
     "showlabel": true,
     "items": [],
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
     "name": "string",
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
 "pipeline": {
  "type": "Node",
  "name": "Command",
  "uniquename": "pipeline",
  "pos": [
   5220.0,
   5000.0
  ],
  "path": [
   "shell",
   "Command"
  ],
  "terminals": {
   "command": {
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
     "name": "command",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "stdout": {
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
     "name": "stdout",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "stderr": {
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
     "name": "stderr",
     "selectionBehavior": "cell",
     "selectionMode": "single"
    }
   },
   "returncode": {
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
     "name": "returncode",
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
   "executor": "shell"
  }
 },
 "connection": {
  "type": "Connection",
  "name": "connection",
  "uniquename": "connection",
  "line": "cubic",
  "input": [
   "script",
   "string"
  ],
  "output": [
   "pipeline",
   "command"
  ],
  "controlpoints": [],
  "feedback": false
 }
}
