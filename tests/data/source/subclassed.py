"""A subclassed deep GRU whose depth is a constructor argument."""
import tensorflow as tf


class DeepGRU(tf.keras.Model):
    """GRU layers stacked in a loop; every layer but the last returns sequences."""

    def __init__(self, units=32, depth=3, bidirectional=False, **kwargs):
        super().__init__(**kwargs)
        self.rnns = []
        for i in range(depth):
            layer = tf.keras.layers.GRU(units, return_sequences=i < depth - 1)
            if bidirectional:
                layer = tf.keras.layers.Bidirectional(layer)
            self.rnns.append(layer)
        self.head = tf.keras.layers.Dense(1)

    def call(self, inputs, training=None):
        x = inputs
        for rnn in self.rnns:
            x = rnn(x, training=training)
        return self.head(x)


model = DeepGRU(units=8, depth=3)
model.compile(optimizer="adam", loss="mse")
