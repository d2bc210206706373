"""Exchange map."""

import streamlit as st

st.title("Exchange map")
st.info("This page will show exchanges as arcs between cities and countries shaded by uptake, drawn offline.")
