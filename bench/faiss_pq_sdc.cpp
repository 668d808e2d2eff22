// faiss_pq_sdc.cpp - see faiss_pq_sdc.h.  Compiled against the installed
// libfaiss-dev headers, as the C API itself is (scripts/deps), so the
// layout of IndexPQ is that of the libfaiss.a it links against.
#include "faiss_pq_sdc.h"

#include <faiss/IndexPQ.h>
#include <faiss/c_api/error_impl.h>
#include <faiss/impl/FaissAssert.h>

namespace
{

faiss::IndexPQ *as_index_pq(FaissIndex *index)
{
    auto *pq = dynamic_cast<faiss::IndexPQ *>(reinterpret_cast<faiss::Index *>(index));
    if (pq == nullptr)
        FAISS_THROW_MSG("not an IndexPQ (search_type is IndexPQ's)");
    return pq;
}

} // namespace

extern "C" int pqeval_bench_faiss_pq_use_sdc(FaissIndex *index)
{
    try {
        faiss::IndexPQ *pq = as_index_pq(index);
        FAISS_THROW_IF_NOT_MSG(pq->pq.nbits == 8, "FAISS's SDC search needs nbits = 8");
        if (pq->pq.sdc_table.size() != pq->pq.M * pq->pq.ksub * pq->pq.ksub)
            pq->pq.compute_sdc_table();
        pq->search_type = faiss::IndexPQ::ST_SDC;
        return 0;
    } catch (...) {
        faiss_last_exception = std::current_exception();
        return -1;
    }
}

extern "C" int pqeval_bench_faiss_pq_use_adc(FaissIndex *index)
{
    try {
        as_index_pq(index)->search_type = faiss::IndexPQ::ST_PQ;
        return 0;
    } catch (...) {
        faiss_last_exception = std::current_exception();
        return -1;
    }
}
