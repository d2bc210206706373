"""Budget scenarios."""

import streamlit as st

st.title("Budget scenarios")
st.info("This page will show how many exchanges an envelope buys, with uncertainty, side by side.")
