package main

import (
	"fmt"
	"io"

	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/tfgraph"
)

func vars(specs []tfgraph.VarSpec) []savedmodel.Var {
	out := make([]savedmodel.Var, len(specs))
	for i, s := range specs {
		out[i] = savedmodel.Var{Name: s.Name, Shape: s.Shape}
	}
	return out
}

// initFrom sets m's encoder (and projection head, when the SavedModel has one) from a Keras
// NNCLR model saved in Python, matched by variable path and shape, and prints the mapping.
func initFrom(m *tfgraph.Model, dir string, sc tfgraph.SessionConfig, w io.Writer) error {
	lm, err := tfgraph.LoadSavedModel(dir, nil, sc)
	if err != nil {
		return fmt.Errorf("--init-from: %w", err)
	}
	defer lm.Close()
	var theirs []savedmodel.Var
	for _, v := range lm.Variables() {
		theirs = append(theirs, savedmodel.Var{Name: v.Name, Shape: v.Shape})
	}
	cfg := m.Config()
	pairs, withHead, err := savedmodel.MapNNCLR(theirs, vars(cfg.EncoderVars()), vars(cfg.HeadVars()))
	if err != nil {
		return fmt.Errorf("--init-from %s: %w", dir, err)
	}
	names := make([]string, len(pairs))
	for i, p := range pairs {
		names[i] = p.Theirs
	}
	vals, err := lm.ReadVariables(names)
	if err != nil {
		return fmt.Errorf("--init-from: %w", err)
	}
	set := map[string]tfgraph.Array{}
	fmt.Fprintf(w, "init from %s:\n", dir)
	for _, p := range pairs {
		set[p.Ours] = vals[p.Theirs]
		fmt.Fprintf(w, "  %-20s <- %-40s %v\n", p.Ours, p.Theirs, vals[p.Theirs].Shape)
	}
	if !withHead {
		fmt.Fprintln(w, "  (no projection head in the SavedModel: the head keeps its initialisation from --seed)")
	}
	return m.SetWeights(set)
}
