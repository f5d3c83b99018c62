"""TrainFlow: train one model per learning rate, in parallel, and keep the best.

Run it with ``python examples/train_flow.py run`` (``--help`` lists its parameters). The model
is a toy, so the run takes a second; the history it records is the real thing.
"""

from flowtrail import FlowSpec, Parameter, current, retry, step


class TrainFlow(FlowSpec):
    """Train one model per learning rate and keep the best."""

    epochs = Parameter("epochs", default=5, help="training epochs per model")

    @step
    def start(self):
        self.alphas = [0.01, 0.1, 0.5, 2.0]
        print(f"training {len(self.alphas)} models for {self.epochs} epochs")
        self.next(self.train, foreach="alphas")

    @retry(times=1, minutes_between_retries=0)
    @step
    def train(self):
        self.alpha = self.input
        if self.alpha > 1 and current.retry_count == 0:
            # A flaky first attempt: recorded with its traceback, then retried.
            raise FloatingPointError(f"loss diverged to nan at epoch 3 (alpha={self.alpha})")
        loss = 1.0
        for epoch in range(self.epochs):
            loss *= 1 - min(self.alpha, 0.9) * 0.6
            print(f"epoch {epoch}: loss {loss:.4f}")
        self.loss = loss
        self.accuracy = round(1 - loss / 2, 4)
        current.set_metadata("final_loss", round(loss, 6))
        self.next(self.choose)

    @step
    def choose(self, inputs):
        best = max(inputs, key=lambda i: (i.accuracy, -i.alpha))
        self.best_alpha = best.alpha
        self.accuracy = best.accuracy
        self.results = {i.alpha: i.accuracy for i in inputs}
        self.next(self.end)

    @step
    def end(self):
        print(f"best alpha {self.best_alpha}: accuracy {self.accuracy}")


if __name__ == "__main__":
    TrainFlow()
