"""Data."""

import streamlit as st

st.title("Data")
st.info("This page will show import registrations and exchanges with a report of every rejected row, and export.")
