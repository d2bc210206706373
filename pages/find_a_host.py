"""Find a host."""

import streamlit as st

st.title("Find a host")
st.info("This page will show describe your objectives and get the eligible hosts worth writing to, with the lump sum.")
