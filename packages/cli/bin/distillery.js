#!/usr/bin/env node
// The installed `distillery` command: runs the compiled CLI (a committed shim, so the bin link
// exists even in a workspace that has not built dist/ yet).
import '../dist/main.js';
