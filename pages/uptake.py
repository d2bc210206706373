"""Uptake."""

import streamlit as st

st.title("Uptake")
st.info("This page will show registrations, the exchange pipeline, completions against targets and money, with filters and exports.")
