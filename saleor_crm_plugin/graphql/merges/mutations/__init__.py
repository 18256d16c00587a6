from .customer_merge import CRMCustomerMerge
from .customer_unmerge import CRMCustomerUnmerge

__all__ = ["CRMCustomerMerge", "CRMCustomerUnmerge"]
