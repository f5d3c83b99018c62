"""A flow with Dagster-style flow metadata (every value type) and default run tags."""

from pathlib import Path

from flowtrail import FlowSpec, MetadataValue, current, step


class MetaFlow(
    FlowSpec,
    metadata={
        "owner": "data team",
        "docs": MetadataValue.url("https://example.org/docs"),
        "readme": MetadataValue.markdown("# Meta\nreads *everything*"),
        "config": {"lr": 0.1, "layers": [64, 32]},
        "data": Path("/data/meta"),
        "replicas": 3,
        "ratio": 0.25,
        "active": True,
    },
    tags={"team": "ml", "tier": 1},
):
    @step
    def start(self):
        self.partition = current.partition
        self.tags = sorted(current.tags)
        self.next(self.end)

    @step
    def end(self):
        print("partition", self.partition)


if __name__ == "__main__":
    MetaFlow()
