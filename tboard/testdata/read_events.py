"""Reading side of the tboard cross-checks: the real TensorBoard reads event files here.

The Go tests in tboard/ run this script with the pinned interpreter ($NNCLR_PYTHON, else
.venv/bin/python) as

    read_events.py LOGDIR...

and compare the JSON it prints on stdout, an object keyed by LOGDIR, with what the Go writer
wrote. Each LOGDIR is read three ways, each as TensorBoard itself does:

  raw           every event of every events file, in order, with
                event_file_loader.EventFileLoader (file names, file_version, wall_time, counts).
  legacy        event_accumulator.EventAccumulator (the TF1-era accumulator): Scalars() for
                simple_value summaries, Tensors() plus PluginTagToContent for the text plugin.
  data_provider plugin_event_multiplexer.EventMultiplexer behind
                data_provider.MultiplexerDataProvider, the "data API" the TensorBoard server and
                its scalars and text plugins use (simple_value is migrated to scalar tensors).

Floats are printed with float.hex() ("nan", "inf", "-inf" for the non-finite ones) so the Go side
parses them exactly with strconv.ParseFloat.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tensorboard import context  # noqa: E402
from tensorboard.backend.event_processing import data_provider  # noqa: E402
from tensorboard.backend.event_processing import event_accumulator  # noqa: E402
from tensorboard.backend.event_processing import event_file_loader  # noqa: E402
from tensorboard.backend.event_processing import io_wrapper  # noqa: E402
from tensorboard.backend.event_processing import plugin_event_multiplexer  # noqa: E402


def fhex(v):
    return float(v).hex()


def read_raw(logdir):
    files = []
    for name in sorted(os.listdir(logdir)):
        path = os.path.join(logdir, name)
        if not io_wrapper.IsTensorFlowEventsFile(path):
            continue
        events = []
        for ev in event_file_loader.EventFileLoader(path).Load():
            kind = ev.WhichOneof("what")
            e = {"wall_time": ev.wall_time, "step": ev.step, "what": kind}
            if kind == "file_version":
                e["file_version"] = ev.file_version
            elif kind == "summary":
                e["tags"] = [v.tag for v in ev.summary.value]
            events.append(e)
        files.append({"name": name, "events": events})
    return files


def read_legacy(logdir):
    acc = event_accumulator.EventAccumulator(
        logdir, size_guidance={"scalars": 0, "tensors": 0}
    )
    acc.Reload()
    tags = acc.Tags()
    scalars = {
        tag: [{"step": e.step, "value": fhex(e.value)} for e in acc.Scalars(tag)]
        for tag in tags["scalars"]
    }
    tensors = {}
    for tag in tags["tensors"]:
        tensors[tag] = [
            {
                "step": e.step,
                "strings": [s.decode("utf-8") for s in e.tensor_proto.string_val],
                "dtype": e.tensor_proto.dtype,
                "rank": len(e.tensor_proto.tensor_shape.dim),
            }
            for e in acc.Tensors(tag)
        ]
    try:
        text_tags = sorted(acc.PluginTagToContent("text").keys())
    except KeyError:
        text_tags = []
    plugins = {}
    for tag in tags["tensors"] + tags["scalars"]:
        try:
            md = acc.SummaryMetadata(tag)
        except KeyError:
            continue
        plugins[tag] = md.plugin_data.plugin_name
    return {
        "file_version": acc.file_version,
        "scalars": scalars,
        "tensors": tensors,
        "plugins": plugins,
        "text_tags": text_tags,
    }


def read_data_provider(logdir):
    mux = plugin_event_multiplexer.EventMultiplexer(
        tensor_size_guidance={"scalars": 0, "text": 0}
    )
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    dp = data_provider.MultiplexerDataProvider(mux, logdir)
    ctx = context.RequestContext()
    out = {"runs": sorted(mux.Runs().keys()), "scalars": {}, "text": {}}
    got = dp.read_scalars(
        ctx, experiment_id="x", plugin_name="scalars", downsample=1 << 30
    )
    for run, by_tag in got.items():
        for tag, data in by_tag.items():
            out["scalars"][tag] = [
                {"step": d.step, "value": fhex(d.value)} for d in data
            ]
    got = dp.read_tensors(
        ctx, experiment_id="x", plugin_name="text", downsample=1 << 30
    )
    for run, by_tag in got.items():
        for tag, data in by_tag.items():
            out["text"][tag] = [
                {
                    "step": d.step,
                    "strings": [
                        s.decode("utf-8") for s in d.numpy.reshape(-1).tolist()
                    ],
                    "rank": d.numpy.ndim,
                }
                for d in data
            ]
    return out


def main():
    json.dump(
        {
            logdir: {
                "raw": read_raw(logdir),
                "legacy": read_legacy(logdir),
                "data_provider": read_data_provider(logdir),
            }
            for logdir in sys.argv[1:]
        },
        sys.stdout,
        allow_nan=False,
    )


if __name__ == "__main__":
    main()
