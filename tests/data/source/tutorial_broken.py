"""A stacked LSTM written the way many tutorials write it (with the classic bug)."""
import numpy as np
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import LSTM, Dense, Dropout

TIMESTEPS, FEATURES = 10, 8

x_train = np.random.rand(32, TIMESTEPS, FEATURES)
y_train = np.random.rand(32, 1)

model = Sequential()
model.add(LSTM(50, input_shape=(TIMESTEPS, FEATURES)))  # forgot return_sequences=True
model.add(Dropout(0.2))
model.add(LSTM(50))
model.add(Dense(1))
model.compile(optimizer="adam", loss="mean_squared_error")
model.fit(x_train, y_train, epochs=1)
