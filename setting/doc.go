// Package setting names the settings of nnclr in one way for the Go API, the run directory and
// the command line. A setting's name is its key in run.json and in the options structs' docs
// (snake_case, e.g. "queue_size"); the command-line flag is the same name with dashes
// ("--queue-size"). Packages report a bad value as an *Error naming the setting, so a Go caller
// can tell which setting was wrong (errors.As) and the CLI can name the flag without a table of
// its own.
package setting
