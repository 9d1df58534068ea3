package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/nnclr/nnclr/internal/testpy"
	rundir "github.com/nnclr/nnclr/run"
)

// TestTFJobManifest parses deploy/tfjob.yaml and checks what the Kubeflow training operator and
// nnclr need of it: a kubeflow.org/v1 TFJob with one Chief and Workers whose containers are named
// tensorflow (the one the operator gives TF_CONFIG), expose port 2222, run the image with
// arguments nnclr's flags accept (pretrain, a global batch that splits over the pods); and the
// TF_CONFIG the operator writes for each pod gives every pod its own task, the chief task 0. A
// NetworkPolicy follows it that admits to the job's pods only the job's own pods, on port 2222
// only (TensorFlow's gRPC server has no authentication).
func TestTFJobManifest(t *testing.T) {
	raw := testpy.Run(t, "../../deploy/yaml_to_json.py", "../../deploy/tfjob.yaml")
	var docs []json.RawMessage
	if err := json.Unmarshal(raw, &docs); err != nil || len(docs) != 2 {
		t.Fatalf("want the TFJob and its NetworkPolicy: %d documents, %v\n%s", len(docs), err, raw)
	}
	var job struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Replicas map[string]struct {
				Replicas int `json:"replicas"`
				Template struct {
					Metadata struct {
						Labels map[string]string `json:"labels"`
					} `json:"metadata"`
					Spec struct {
						Containers []struct {
							Name  string   `json:"name"`
							Image string   `json:"image"`
							Args  []string `json:"args"`
							Ports []struct {
								Name string `json:"name"`
								Port int    `json:"containerPort"`
							} `json:"ports"`
						} `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"tfReplicaSpecs"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(docs[0], &job); err != nil {
		t.Fatalf("%v\n%s", err, docs[0])
	}
	if job.APIVersion != "kubeflow.org/v1" || job.Kind != "TFJob" || job.Metadata.Name == "" {
		t.Fatalf("not a named kubeflow.org/v1 TFJob: %s %s %q", job.APIVersion, job.Kind, job.Metadata.Name)
	}
	chief, workers := job.Spec.Replicas["Chief"], job.Spec.Replicas["Worker"]
	if chief.Replicas != 1 || workers.Replicas < 1 || len(job.Spec.Replicas) != 2 {
		t.Fatalf("replicas: %+v", job.Spec.Replicas)
	}
	total := chief.Replicas + workers.Replicas
	for role, spec := range job.Spec.Replicas {
		cs := spec.Template.Spec.Containers
		if len(cs) != 1 || cs[0].Name != "tensorflow" || cs[0].Image == "" || len(cs[0].Ports) != 1 || cs[0].Ports[0].Port != 2222 || cs[0].Ports[0].Name != "tfjob-port" {
			t.Fatalf("%s container: %+v", role, cs)
		}
		c, err := parseFlags(cs[0].Args, &bytes.Buffer{})
		if err != nil || c.mode != "pretrain" {
			t.Fatalf("%s args %q: mode %q, %v", role, cs[0].Args, c.mode, err)
		}
		if c.pretrain.UnlabelledBatch%total != 0 || c.pretrain.LabelledBatch%total != 0 {
			t.Errorf("%s: global batch %d + %d does not split over %d pods", role, c.pretrain.UnlabelledBatch, c.pretrain.LabelledBatch, total)
		}
	}
	var pol struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			PodSelector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"podSelector"`
			PolicyTypes []string `json:"policyTypes"`
			Ingress     []struct {
				From  []map[string]json.RawMessage `json:"from"`
				Ports []struct {
					Protocol string `json:"protocol"`
					Port     int    `json:"port"`
				} `json:"ports"`
			} `json:"ingress"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(docs[1], &pol); err != nil {
		t.Fatalf("%v\n%s", err, docs[1])
	}
	sel := pol.Spec.PodSelector.MatchLabels
	if pol.APIVersion != "networking.k8s.io/v1" || pol.Kind != "NetworkPolicy" || len(sel) == 0 || !slices.Contains(pol.Spec.PolicyTypes, "Ingress") {
		t.Fatalf("not an ingress NetworkPolicy selecting pods by label: %s", docs[1])
	}
	for role, spec := range job.Spec.Replicas {
		for k, v := range sel {
			if spec.Template.Metadata.Labels[k] != v {
				t.Errorf("the NetworkPolicy selects %s=%s, which %s's pods do not carry (%v)", k, v, role, spec.Template.Metadata.Labels)
			}
		}
	}
	in := pol.Spec.Ingress
	if len(in) != 1 || len(in[0].From) != 1 || len(in[0].From[0]) != 1 || len(in[0].Ports) != 1 || in[0].Ports[0].Port != 2222 || in[0].Ports[0].Protocol != "TCP" {
		t.Fatalf("want one ingress rule, from one pod selector, to TCP 2222 only: %s", docs[1])
	}
	var from struct {
		MatchLabels map[string]string `json:"matchLabels"`
	}
	if err := json.Unmarshal(in[0].From[0]["podSelector"], &from); err != nil || !maps.Equal(from.MatchLabels, sel) {
		t.Errorf("the ingress rule admits %s, want the job's pods (%v)", in[0].From[0], sel)
	}

	// TF_CONFIG as the operator writes it for each pod.
	addr := func(role string, i int) string {
		return fmt.Sprintf("%s-%s-%d.default.svc:2222", job.Metadata.Name, role, i)
	}
	cluster := map[string][]string{"chief": {addr("chief", 0)}}
	for i := range workers.Replicas {
		cluster["worker"] = append(cluster["worker"], addr("worker", i))
	}
	type pod struct {
		typ string
		i   int
	}
	pods := []pod{{"chief", 0}}
	for i := range workers.Replicas {
		pods = append(pods, pod{"worker", i})
	}
	var tasks, want []int
	for i, pod := range pods {
		want = append(want, i)
		tc, _ := json.Marshal(map[string]any{"cluster": cluster, "task": map[string]any{"type": pod.typ, "index": pod.i}})
		cl, err := rundir.ParseTFConfig(string(tc))
		if err != nil {
			t.Fatalf("TF_CONFIG of %s %d: %v", pod.typ, pod.i, err)
		}
		if cl.Size() != total || cl.Workers[cl.Task] != addr(pod.typ, pod.i) {
			t.Errorf("TF_CONFIG of %s %d: %+v", pod.typ, pod.i, cl)
		}
		tasks = append(tasks, cl.Task)
	}
	if !slices.Equal(tasks, want) {
		t.Errorf("pods' tasks %v", tasks)
	}
}
