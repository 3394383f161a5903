"""ionflow.analysis"""
